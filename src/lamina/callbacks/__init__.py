"""Callbacks: hooks into fit / evaluate / predict, with Keras's names and arguments.

`lamina.callbacks.EarlyStopping` and the rest are re-exported here; each lives in its own module.
"""

from lamina.callbacks.backup_and_restore import BackupAndRestore
from lamina.callbacks.callback import (
    Callback,
    CallbackList,
    History,
    LambdaCallback,
    LazyLogs,
    ProgbarLogger,
)
from lamina.callbacks.csv_logger import CSVLogger
from lamina.callbacks.early_stopping import EarlyStopping
from lamina.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from lamina.callbacks.model_checkpoint import ModelCheckpoint
from lamina.callbacks.orbax_checkpoint import OrbaxCheckpoint
from lamina.callbacks.remote_monitor import RemoteMonitor
from lamina.callbacks.swap_ema_weights import SwapEMAWeights
from lamina.callbacks.tensorboard import TensorBoard
from lamina.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LazyLogs",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "OrbaxCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "RemoteMonitor",
    "SwapEMAWeights",
    "TensorBoard",
    "TerminateOnNaN",
]

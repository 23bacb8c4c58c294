"""Linear algebra (Keras's `ops.linalg`): factorisations, solvers, inverses, determinants, and
forward-mode differentiation (`jvp`). Each op is `torch.linalg`'s, batched over leading axes.
"""

from __future__ import annotations

import warnings

import torch

from lamina.ops.core import axis_arg as _axis_arg
from lamina.ops.core import floating, symbolic_op, tensor


def _float(x):
    return floating(tensor(x))


@symbolic_op("cholesky")
def cholesky(x, upper=False):
    """The Cholesky factor of symmetric positive-definite `x` (lower unless `upper`)."""
    return torch.linalg.cholesky(_float(x), upper=upper)


@symbolic_op("cholesky_inverse")
def cholesky_inverse(x, upper=False):
    """The inverse of `A` from its Cholesky factor `x` (`A = L L^T`, or `U^T U` if `upper`)."""
    return torch.cholesky_inverse(_float(x), upper=upper)


@symbolic_op("det")
def det(x):
    """Determinants of square matrices."""
    return torch.linalg.det(_float(x))


@symbolic_op("slogdet")
def slogdet(x):
    """(sign, log |det|) of square matrices."""
    return tuple(torch.linalg.slogdet(_float(x)))


@symbolic_op("logdet")
def logdet(x):
    """The log-determinant of (Hermitian positive-definite) matrices."""
    return torch.logdet(_float(x))


@symbolic_op("eig")
def eig(x):
    """(eigenvalues, eigenvectors) of general square matrices (complex)."""
    return tuple(torch.linalg.eig(_float(x)))


@symbolic_op("eigh")
def eigh(x):
    """(eigenvalues ascending, eigenvectors) of symmetric matrices."""
    return tuple(torch.linalg.eigh(_float(x)))


@symbolic_op("inv")
def inv(x):
    """Inverses of square matrices."""
    return torch.linalg.inv(_float(x))


@symbolic_op("pinv")
def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverses; singular values below `rcond * largest` count as zero."""
    return torch.linalg.pinv(_float(x), rtol=rcond)


@symbolic_op("matrix_rank")
def matrix_rank(x, tol=None):
    """Numerical ranks (int32): singular values above `tol` (default: torch's/NumPy's rule)."""
    return torch.linalg.matrix_rank(_float(x), atol=tol, rtol=None if tol is None else 0.0).to(
        torch.int32
    )


@symbolic_op("lu_factor")
def lu_factor(x):
    """(LU, pivots): the packed LU factorisation and 0-based row pivots (int32)."""
    lu, pivots = torch.linalg.lu_factor(_float(x))
    return lu, (pivots - 1).to(torch.int32)


@symbolic_op("qr")
def qr(x, mode="reduced"):
    """(Q, R) with `mode` "reduced" or "complete"."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr() expects mode in ['reduced', 'complete']; received mode={mode!r}.")
    return tuple(torch.linalg.qr(_float(x), mode=mode))


@symbolic_op("svd")
def svd(x, full_matrices=True, compute_uv=True):
    """(U, S, V^H), or only the singular values S when `compute_uv=False`."""
    x = _float(x)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


@symbolic_op("solve")
def solve(a, b):
    """`x` with `a @ x = b`."""
    a = _float(a)
    return torch.linalg.solve(a, tensor(b).to(a.dtype))


@symbolic_op("solve_triangular")
def solve_triangular(a, b, lower=False):
    """`x` with `a @ x = b` for triangular `a` (a 1-D `b` is one right-hand side)."""
    a = _float(a)
    b = tensor(b).to(a.dtype)
    vector = b.dim() == a.dim() - 1
    out = torch.linalg.solve_triangular(a, b.unsqueeze(-1) if vector else b, upper=not lower)
    return out.squeeze(-1) if vector else out


@symbolic_op("lstsq")
def lstsq(a, b, rcond=None):
    """The least-squares solution of `a @ x = b` (through the pseudo-inverse, any shape)."""
    a = _float(a)
    b = tensor(b).to(a.dtype)
    vector = b.dim() == 1
    out = torch.linalg.pinv(a, rtol=rcond) @ (b.unsqueeze(-1) if vector else b)
    return out.squeeze(-1) if vector else out


def jvp(fun, primals, tangents, has_aux=False):
    """(outputs, Jacobian-vector product) of `fun` at `primals` along `tangents` (forward mode).

    Args:
        fun: a function of tensors.
        primals, tangents: tuples (or lists) of the same structure.
        has_aux: `fun` returns `(output, aux)`; then `(output, jvp, aux)` is returned.
    """
    primals = tuple(tensor(p) for p in primals)
    tangents = tuple(tensor(t).to(p.dtype) for p, t in zip(primals, tangents, strict=True))
    with warnings.catch_warnings():
        # torch's first forward-mode call scripts its decompositions with the deprecated
        # torch.jit.script; that warning is torch's own, not the caller's.
        warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
        return torch.func.jvp(fun, primals, tangents, has_aux=has_aux)


@symbolic_op("norm")
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras's name
    """The vector or matrix norm of `x` (Keras's `ops.norm`, also in `ops.linalg`)."""
    return torch.linalg.norm(_float(x), ord=ord, dim=_axis_arg(axis), keepdim=keepdims)

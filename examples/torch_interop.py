"""lamina layers are torch.nn.Modules: use them in a hand-written PyTorch loop, and put a plain
torch module inside a lamina model.

Run: python examples/torch_interop.py
"""

import numpy as np
import torch

import lamina
from lamina import layers, models

lamina.utils.set_random_seed(0)
x = torch.randn(256, 4)
y = (x[:, :1] * x[:, 1:2] > 0).float()

# 1. lamina layers in a plain torch training loop.
net = torch.nn.Sequential(layers.Dense(16, activation="relu"), layers.Dense(1))
net(x[:1])  # build the lazy layers before handing the parameters to torch.optim
optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
for _ in range(200):
    optimizer.zero_grad()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x), y)
    loss.backward()
    optimizer.step()
print(f"torch loop over lamina layers: final loss {loss.item():.3f}")


# 2. a torch module inside a lamina model, trained with fit().
class Square(torch.nn.Module):
    def forward(self, inputs):
        return inputs * inputs


model = models.Sequential([layers.Dense(8), Square(), layers.Dense(1, activation="sigmoid")])
model.compile(
    optimizer=lamina.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
)
model.fit(x.numpy(), y.numpy(), epochs=30, verbose=0)
print(
    "lamina fit with a torch module inside: accuracy "
    f"{model.evaluate(x.numpy(), y.numpy(), verbose=0)[1]:.3f}"
)
if not (isinstance(model, torch.nn.Module) and np.isfinite(loss.item())):
    raise SystemExit("the lamina model did not train inside the torch loop")

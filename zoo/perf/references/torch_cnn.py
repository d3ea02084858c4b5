"""The seed's PyTorch MNIST convnet, corrected to run, trained in PyTorch eager.

The seed's `CNN` sizes fc1 as 64*7*7, but its single 2x2 pool of a 28x28 image leaves
14x14, so it fails on its first batch; here fc1 takes 64*14*14, which makes it the same
network as the zoo's `seed_cnn` (1,625,866 parameters). Trained like the zoo measures:
Adam(1e-4), cross-entropy on logits, one fixed batch in memory, the loss fetched every
step. Needs the optional extra ``compare`` (``pip install 'keras-zoo[compare]'``).
"""

from __future__ import annotations

import os
from typing import Any

from zoo.perf.references import common


def build():
    import torch
    from torch import nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
            self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(64 * 14 * 14, 128)  # the seed wrote 64 * 7 * 7
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = torch.relu(self.conv1(x))
            x = self.pool(torch.relu(self.conv2(x)))
            x = torch.flatten(x, 1)
            return self.fc2(torch.relu(self.fc1(x)))

    return CNN()


def measure(
    model: str = "seed_cnn",
    batch_size: int = 64,
    *,
    steps: int = 20,
    warmup: int = 3,
    precision: str = "float32",
) -> dict[str, Any]:
    import numpy as np
    import torch

    from zoo import registry

    if model != "seed_cnn" or precision != "float32":
        raise ValueError("the PyTorch reference is the seed's CNN in float32")
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    x, y, _ = common.batch("seed_cnn", batch_size)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NHWC -> NCHW
    yt = torch.from_numpy(y.astype("int64"))
    net = build()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    net.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(xt), yt)
        loss.backward()
        optimizer.step()
        return loss.item()

    losses = []
    first, times = common.time_steps(lambda: losses.append(step()), steps, warmup)
    return common.record(
        model=model,
        mode="ref_torch",
        batch_size=batch_size,
        first_s=first,
        times=times,
        flops_model=registry.create_model("seed_cnn"),
        implementation=f"PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads",
        params=sum(p.numel() for p in net.parameters()),
        framework="torch",
        warmup=warmup,
        extra={"loss_first": losses[0], "loss_last": losses[-1]},
    )

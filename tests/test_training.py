"""Tests of utils.training and utils.plotting."""

import matplotlib

matplotlib.use("Agg")
import pytest
import torch
from torch import nn

from utils import plotting
from utils.training import minibatches, mlp, train


def test_minibatches_cover_every_example_once_per_epoch():
    x = torch.arange(10)
    y = 10 * torch.arange(10)
    it = minibatches(x, y, batch_size=5, generator=torch.Generator().manual_seed(0))
    seen = torch.cat([next(it)[0] for _ in range(2)])
    assert sorted(seen.tolist()) == list(range(10))
    bx, by = next(it)
    assert torch.equal(by, 10 * bx)
    with pytest.raises(ValueError, match="batch_size"):
        next(minibatches(x, batch_size=11))
    with pytest.raises(ValueError, match="first dimension"):
        next(minibatches(x, y[:3], batch_size=2))


def test_train_fits_a_line_and_records_history():
    torch.manual_seed(0)
    x = torch.randn(256, 1)
    y = 3 * x + 1
    model = nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(batch):
        bx, by = batch
        opt.zero_grad()
        loss = ((model(bx) - by) ** 2).mean()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    history = train(step, minibatches(x, y, batch_size=32), n_steps=200, desc="line")
    assert len(history["loss"]) == 200 and history["loss"][-1] < 1e-4 < history["loss"][0]
    assert model.weight.item() == pytest.approx(3, abs=1e-2)
    with pytest.raises(FloatingPointError, match="step 0"):
        train(lambda i: float("nan"), None, n_steps=3)
    with pytest.raises(ValueError, match="n_steps"):
        train(lambda i: 0.0, None, n_steps=0)


def test_mlp_shapes_and_errors():
    net = mlp([4, 8, 8, 2], activation=nn.Tanh, out_activation=nn.Sigmoid())
    out = net(torch.randn(5, 4))
    assert out.shape == (5, 2) and (out > 0).all() and (out < 1).all()
    assert sum(isinstance(m, nn.Tanh) for m in net) == 2
    with pytest.raises(ValueError, match="sizes"):
        mlp([4])


def test_plotting_draws_and_validates():
    ax = plotting.image_grid(torch.rand(12, 1, 28, 28), nrow=6, title="t")
    assert ax.images[0].get_array().shape == (2 * 29 + 1, 6 * 29 + 1)
    plotting.show(ax.figure)
    plotting.show(plotting.scatter_2d(torch.randn(50, 2), torch.randint(3, (50,))).figure)
    plotting.show(plotting.density_2d(torch.randn(500, 2), limits=(-3, 3)).figure)
    plotting.show(plotting.training_curves({"a": [3, 2, 1], "b": [1, 1, 1]}, smooth=2).figure)
    with pytest.raises(ValueError, match="one channel"):
        plotting.image_grid(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plotting.scatter_2d(torch.randn(5, 3))
    with pytest.raises(ValueError, match="empty"):
        plotting.training_curves({})


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))]


@pytest.mark.parametrize("device", DEVICES)
def test_minibatches_same_order_on_every_device(device):
    """A CPU generator shuffles identically whether the data is on the CPU or the GPU."""
    x = torch.arange(20.0)
    a = next(minibatches(x, batch_size=5, generator=torch.Generator().manual_seed(0)))
    b = next(minibatches(x.to(device), batch_size=5, generator=torch.Generator().manual_seed(0)))
    assert b.device.type == device and torch.equal(a, b.cpu())


def test_minibatches_mixed_devices_fail_clearly():
    with pytest.raises(ValueError, match=r"tensors\[1\] is on meta"):
        next(minibatches(torch.ones(4), torch.empty(4, device="meta"), batch_size=2))
    with pytest.raises(TypeError, match="batch_size"):
        next(minibatches(torch.ones(4), batch_size=True))

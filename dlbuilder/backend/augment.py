"""Random shift and horizontal flip of a batch of images, done on the whole batch at once."""

from __future__ import annotations

import torch


def augment(x: torch.Tensor, shift: int, flip: bool, generator: torch.Generator,
            fill: torch.Tensor) -> torch.Tensor:
    """x: (B, C, H, W). Each image moves by up to `shift` pixels in each direction (the edge
    that comes in is `fill`, the value a blank raw pixel has after preprocessing, per channel),
    and with `flip` half of them are mirrored left to right. The random numbers come from
    `generator` (on the CPU), so a seeded run is repeatable."""
    batch, channels, height, width = x.shape
    if shift > 0:
        padded = fill.view(1, channels, 1, 1).expand(batch, channels, height + 2 * shift,
                                                     width + 2 * shift).clone()
        padded[:, :, shift:shift + height, shift:shift + width] = x
        offsets = torch.randint(0, 2 * shift + 1, (2, batch), generator=generator).to(x.device)
        rows = offsets[0].view(batch, 1) + torch.arange(height, device=x.device)
        cols = offsets[1].view(batch, 1) + torch.arange(width, device=x.device)
        index = torch.arange(batch, device=x.device).view(batch, 1, 1)
        # (B, H, W, C) from advanced indexing over batch, rows and columns
        x = padded.permute(0, 2, 3, 1)[index, rows.view(batch, height, 1),
                                       cols.view(batch, 1, width)].permute(0, 3, 1, 2)
        x = x.contiguous()
    if flip:
        mirror = (torch.rand(batch, generator=generator) < 0.5).to(x.device)
        x = torch.where(mirror.view(batch, 1, 1, 1), x.flip(-1), x)
    return x

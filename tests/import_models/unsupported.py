"""Models the graph cannot hold: an LSTM, data-dependent control flow, and both."""

import torch
from torch import nn


class WithLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.gate = nn.Linear(8, 8)

    def forward(self, x):
        x = self.fc(x)
        if x.sum() > 0:
            x = self.gate(x)
        x = torch.sort(x, dim=1).values
        return x


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        raise RuntimeError("the config file is missing")

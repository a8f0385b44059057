"""``nn.LSTM`` whose dropout between layers draws its masks with :mod:`mlsplab.models.dropout`.

``nn.LSTM(num_layers=2, dropout=p)`` applies dropout to the first layer's output inside
PyTorch's C++ loop over layers, with ``bernoulli_`` (slow on some CPUs: see
:mod:`mlsplab.models.dropout`). In training on the CPU this subclass runs the same loop in Python,
one ``torch.lstm`` call per layer (the op ``nn.LSTM`` calls; on the CPU, oneDNN's LSTM either way),
with :func:`~mlsplab.models.dropout.dropout` in between. Everywhere else (evaluation,
packed sequences, other devices, an initial state given) it is ``nn.LSTM`` unchanged. The
parameters and their names are those of ``nn.LSTM``, so saved weights load either way, and
without dropout both forwards give the same numbers (a test checks it).
"""

from __future__ import annotations

import torch
from torch import nn

from mlsplab.models.dropout import dropout


class StackedLSTM(nn.LSTM):
    """``nn.LSTM`` (unidirectional, no projection) with CPU dropout masks between its layers."""

    def forward(self, input, hx=None):
        if (not self.training or self.dropout == 0.0 or self.num_layers == 1 or hx is not None
                or not isinstance(input, torch.Tensor) or input.dim() != 3
                or input.device.type != "cpu" or self.bidirectional or self.proj_size):
            return super().forward(input, hx)
        batch = input.shape[0 if self.batch_first else 1]
        x, h_n, c_n = input, [], []
        for layer, weights in enumerate(self.all_weights):  # [w_ih, w_hh, (b_ih, b_hh)]
            if layer > 0:
                x = dropout(x, self.dropout)
            zeros = x.new_zeros(1, batch, self.hidden_size)
            x, h, c = torch.lstm(x, (zeros, zeros), weights, self.bias, 1, 0.0, True, False,
                                 self.batch_first)
            h_n.append(h)
            c_n.append(c)
        return x, (torch.cat(h_n), torch.cat(c_n))

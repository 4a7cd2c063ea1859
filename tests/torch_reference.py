"""The tutorial's PyTorch code, re-expressed as the oracle for the training tests.

These functions follow ../shared/reference/neural_networks_basics_tutorial.txt line by line
(compute_loss, add_regularization, train_step, train_model, create_lr_scheduler), with the two
additions our tests need: the loss list is extended with ``bce_with_logits`` (the tutorial's
binary model has no sigmoid), and ``train_model`` can optionally apply ``add_regularization`` and
step a scheduler once per epoch (the tutorial defines both but never calls them).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn


def compute_loss(y_pred, y_true, loss_type="mse"):
    if loss_type == "mse":
        return nn.MSELoss()(y_pred, y_true)
    elif loss_type == "cross_entropy":
        return nn.CrossEntropyLoss()(y_pred, y_true)
    elif loss_type == "binary_cross_entropy":
        return nn.BCELoss()(y_pred, y_true)
    elif loss_type == "bce_with_logits":
        return nn.BCEWithLogitsLoss()(y_pred, y_true)
    raise ValueError(loss_type)


def add_regularization(model, loss, lambda_l1=0.01, lambda_l2=0.01):
    l1_reg = torch.tensor(0.0, dtype=loss.dtype)
    for param in model.parameters():
        l1_reg = l1_reg + torch.norm(param, 1)
    l2_reg = torch.tensor(0.0, dtype=loss.dtype)
    for param in model.parameters():
        l2_reg = l2_reg + torch.norm(param, 2)
    return loss + lambda_l1 * l1_reg + lambda_l2 * l2_reg


def sequential_mlp(layer_sizes, dtype=torch.float32):
    """``nn.Sequential`` of Linear layers with ReLU between them (keys 0, 2, 4, ...)."""
    layers = []
    for i, (m, n) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        layers.append(nn.Linear(m, n))
        if i < len(layer_sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).to(dtype)


def loaders(x, y, batch_size, dtype, loss_type):
    """Unshuffled DataLoader of (x, y), targets converted as jnnbasics converts them."""
    xt = torch.as_tensor(np.asarray(x), dtype=dtype)
    if loss_type == "cross_entropy":
        yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
    else:
        yt = torch.as_tensor(np.asarray(y), dtype=dtype)
        if yt.ndim == 1:
            yt = yt.reshape(-1, 1)
    ds = torch.utils.data.TensorDataset(xt, yt)
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False)


def create_lr_scheduler(optimizer, mode="step"):
    if mode == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    elif mode == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=100)
    return None


def train_model(
    model,
    train_loader,
    val_loader,
    epochs=100,
    learning_rate=0.001,
    *,
    loss_type="mse",
    lambda_l1=0.0,
    lambda_l2=0.0,
    weight_decay=0.0,
    schedule=None,
):
    """The tutorial's train_model (+ optional penalties, weight decay and a per-epoch scheduler)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    scheduler = create_lr_scheduler(optimizer, schedule) if schedule else None
    history = {"train_loss": [], "val_loss": []}
    for _epoch in range(epochs):
        model.train()
        train_losses = []
        for X_batch, y_batch in train_loader:
            y_pred = model(X_batch)
            loss = compute_loss(y_pred, y_batch, loss_type)
            objective = loss
            if lambda_l1 or lambda_l2:
                objective = add_regularization(model, loss, lambda_l1, lambda_l2)
            optimizer.zero_grad()
            objective.backward()
            optimizer.step()
            train_losses.append(loss.item())
        if scheduler is not None:
            scheduler.step()
        model.eval()
        val_losses = []
        with torch.no_grad():
            for X_batch, y_batch in val_loader:
                y_pred = model(X_batch)
                val_losses.append(compute_loss(y_pred, y_batch, loss_type).item())
        history["train_loss"].append(np.mean(train_losses))
        history["val_loss"].append(np.mean(val_losses))
    return history

"""The command line shared by the two training programs, so that both train the same run."""

import argparse


def parse_training_args(argv: list[str], *, description: str) -> argparse.Namespace:
    """Parse ``--data NPZ --sizes 2,64,32,1 --loss L --epochs E --batch-size B [--threads T]``.

    Args:
        argv: the arguments, without the program name.
        description: the program's one-line description (for ``--help``).

    Returns:
        A namespace with ``data`` (path of an ``.npz`` with ``x`` and ``y``), ``sizes`` (list of
        int), ``loss`` (``"bce_with_logits"`` or ``"cross_entropy"``), ``epochs``, ``batch_size``
        and ``threads`` (PyTorch's thread count; 0 leaves its default).
    """
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", required=True, help=".npz file with arrays x and y")
    p.add_argument("--sizes", required=True, type=lambda s: [int(v) for v in s.split(",")])
    p.add_argument("--loss", required=True, choices=("bce_with_logits", "cross_entropy"))
    p.add_argument("--epochs", required=True, type=int)
    p.add_argument("--batch-size", required=True, type=int)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: its default)")
    return p.parse_args(argv)

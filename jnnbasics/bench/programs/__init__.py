"""Small programs that the benchmark runs in fresh interpreters (start-up, memory, compile time).

Each is a script, started by its file path (``python .../programs/train_torch.py ARGS``; see
:func:`jnnbasics.bench.process_checks.run_program`), never with ``python -m jnnbasics...``: that
would import ``jnnbasics`` and JAX into every process first, into the PyTorch ones too, and
spoil the import times and the peak memory they measure. So a program imports its sibling
modules by their plain names (``from peak_memory import peak_memory_kb``) and imports
``jnnbasics`` only when it measures it. Each prints one JSON object on its last line.
"""

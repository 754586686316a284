"""The training side of adfusion-edge (needs the ``[train]`` extra; the runtime never imports it).

One sub-package per pipeline stage, lower stages first; a stage imports only the stages above it
in this list (tests/test_import_rules.py enforces it):

    data/       AdSynth generator, manifests, Pitt converter, shards, datasets   (adfusion-edge data)
    models/     teacher, baselines, student, registry, checkpoints
    evaluate/   metrics, evaluator, Table 1/2 + Figures 1/2                     (adfusion-edge evaluate)
    train/      task losses, training loop, DDP/AMP, the baseline suite         (adfusion-edge train)
    kd/         distillation: KD losses, teacher-output cache, distiller        (adfusion-edge distill)
    prune/      structured pruning by measured ORT latency                      (adfusion-edge prune)
    compare/    the student report: teacher vs student vs pruned vs INT8

Folder ``distill/`` installs as ``adfusion_edge.distill`` (pyproject's package-dir mapping).
"""

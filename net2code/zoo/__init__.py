"""The zoo: built-in task families, their networks and trainers, kept apart from the
extraction machinery. Nothing here is imported by `import net2code`.

* `modular`: op(a, b) mod p, the Clock/Pizza transformer and MLPs, training, sweeps, surgery;
* `sequence`: the MIPS presets, the RNN and its trainer, the suite;
* `thinking`: mazes and prefix sums, the DT-net, its training and evaluation, pictures.

To add a task family: a subpackage with its data and trainer, whose runs save a checkpoint
(`net2code.checkpoint.save_checkpoint`) of an architecture in `checkpoint.ARCHITECTURES`.
"""

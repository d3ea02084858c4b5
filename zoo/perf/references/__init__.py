"""Hand-written baselines the zoo is measured against (`zoo bench --suite reference`).

- `tf_loop`: the zoo's model trained by a plain `tf.function` step (GradientTape, the same
  optimizer, the same batch in memory): what a TensorFlow user would write by hand.
- `torch_cnn`: the seed's PyTorch MNIST convnet, corrected to run (fc1 sized 64*14*14),
  trained the same way in PyTorch eager (optional extra ``compare``).

(The input pipeline is measured by `zoo.perf.profile` itself: mode "pipeline" feeds `fit`
from the zoo's tf.data pipeline over a real prepared dataset, mode "fit" the same model
from one batch in memory.)

Each `measure(...)` returns the record of a `zoo.perf.profile.ProfileResult`, built by the
same `make_result` as the zoo's (`train.samples_per_s`, step percentiles, FLOPs, `mfu`), so
the bench harness summarizes zoo cases and references alike.
"""

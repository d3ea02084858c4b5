"""The built-in model catalog: one spec per model, as data.

Each family lives in its own module (linear, mlp, cnn, rnn, transformer, recommender);
this file only describes them, so reading it imports no deep learning framework. A
spec's `defaults` mirror its factory's keyword defaults (a test keeps them in step), and
its `recipe` is the default training recipe on the task's synthetic data.
"""

from zoo.registry import ModelSpec, Recipe, register

_TEXT = {"vocab_size": 1000, "sequence_length": 64, "num_classes": 4}

for _spec in [
    ModelSpec(
        name="linear_regression",
        family="linear",
        task="regression",
        summary="The seed's linear model y = wx + b: one Dense unit.",
        reference="Least squares; the seed project's LinearRegression",
        factory="zoo.models.linear:linear_regression",
        defaults={"num_features": 4},
        tags=("seed", "tiny"),
        recipe=Recipe(epochs=10, batch_size=32, learning_rate=0.01),
    ),
    ModelSpec(
        name="mlp",
        family="mlp",
        task="image_classification",
        summary="Stacked Dense + activation layers (y = sigma(Wx + b)) on flattened images.",
        reference="Rumelhart, Hinton and Williams 1986; keras-io MNIST MLP",
        factory="zoo.models.mlp:mlp",
        defaults={
            "input_shape": (28, 28, 1),
            "num_classes": 10,
            "hidden_units": 256,
            "num_layers": 2,
            "activation": "relu",
            "dropout": 0.0,
        },
        tags=("seed", "vision"),
        recipe=Recipe(epochs=3, batch_size=64, learning_rate=1e-3),
    ),
    ModelSpec(
        name="seed_cnn",
        family="cnn",
        task="image_classification",
        summary="Port of the seed's PyTorch MNIST convnet: 2 conv, 1 pool, 2 dense.",
        reference="The seed project's PyTorch CNN (fc1 corrected to 64*14*14)",
        factory="zoo.models.cnn:seed_cnn",
        defaults={"input_shape": (28, 28, 1), "num_classes": 10},
        tags=("seed", "vision"),
        recipe=Recipe(epochs=3, batch_size=64, learning_rate=1e-3),
    ),
    ModelSpec(
        name="lstm_classifier",
        family="rnn",
        task="text_classification",
        summary="Token embedding, one LSTM, Dense classifier.",
        reference="Hochreiter and Schmidhuber 1997",
        factory="zoo.models.rnn:lstm_classifier",
        defaults={**_TEXT, "embedding_dim": 64, "units": 64, "dropout": 0.0},
        tags=("text",),
        recipe=Recipe(epochs=5, batch_size=64, learning_rate=2e-3),
    ),
    ModelSpec(
        name="transformer_classifier",
        family="transformer",
        task="text_classification",
        summary="Token + position embedding, Transformer encoder block(s), mean pool, classifier.",
        reference="Vaswani et al. 2017; keras-io text_classification_with_transformer",
        factory="zoo.models.transformer:transformer_classifier",
        defaults={
            **_TEXT,
            "embed_dim": 64,
            "num_heads": 4,
            "ff_dim": 128,
            "num_layers": 1,
            "dropout": 0.1,
        },
        tags=("text", "attention"),
        recipe=Recipe(epochs=5, batch_size=64, learning_rate=1e-3),
    ),
    ModelSpec(
        name="matrix_factorization",
        family="recommender",
        task="rating_prediction",
        summary="Biased matrix factorization: mu + b_u + b_i + p_u . q_i.",
        reference="Koren, Bell and Volinsky 2009, Matrix Factorization Techniques",
        factory="zoo.models.recommender:matrix_factorization",
        defaults={"num_users": 300, "num_items": 200, "embedding_dim": 8, "l2": 1e-4},
        tags=("recsys",),
        recipe=Recipe(epochs=12, batch_size=256, learning_rate=1e-2),
    ),
]:
    register(_spec)

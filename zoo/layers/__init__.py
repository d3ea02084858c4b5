"""Custom layers of the zoo, each registered as serializable under the package "zoo".

Importing this package registers them, so a saved zoo model reloads in safe mode.
"""

from zoo.layers.biased_factors import BiasedFactors
from zoo.layers.dot_scores import DotScores
from zoo.layers.global_bias import GlobalBias
from zoo.layers.hashed_ngrams import HashedBigrams
from zoo.layers.masked_mean import MaskedMean
from zoo.layers.position_embedding import PositionEmbedding
from zoo.layers.token_inputs import PaddingMask, SegmentIds

__all__ = [
    "BiasedFactors",
    "DotScores",
    "GlobalBias",
    "HashedBigrams",
    "MaskedMean",
    "PaddingMask",
    "PositionEmbedding",
    "SegmentIds",
]

"""Adding styles to a trained network (Dumoulin, Shlens & Kudlur 2017, §3).

A conditional instance-norm network holds each style in its normalisation
scales and offsets only, so a new style needs new rows of γ and β and
nothing else: `add_styles` copies a trained network into one with more
styles, and training only the new rows (`StyleTransferTrainer(...,
train_only_styles=True)`) teaches it the new style in a few hundred steps.
"""

import numpy as np

from dstyle_tf.models.transform_net import TransformNet


def add_styles(net, names):
    """A copy of a trained `TransformNet` that also holds the styles `names`.

    The copy has the same architecture and weights; its styles are `net`'s
    followed by `names`. A single-style instance-norm network becomes a
    conditional one whose first style is its own. The new styles' scales
    and offsets start at the mean of the existing styles'.

    Args:
        net: a built instance-norm `TransformNet` (one or more styles).
        names: the new styles' names (unique, not already in `net`).

    Returns:
        a built `TransformNet` with `net.num_styles + len(names)` styles.

    Raises:
        ValueError: a batch-norm network, no names, or a name `net` has.
    """
    names = list(names)
    if net.normalization != "instance":
        raise ValueError(
            "Only instance-norm networks can hold several styles; this one "
            f"uses {net.normalization} normalization."
        )
    if not names:
        raise ValueError("No style to add.")
    taken = sorted(set(names) & set(net.style_names))
    if taken:
        raise ValueError(
            f"The network already holds style(s) {', '.join(taken)}; "
            f"its styles: {', '.join(net.style_names)}."
        )
    config = net.get_config()
    config.update(
        num_styles=net.num_styles + len(names),
        style_names=[*net.style_names, *names],
    )
    grown = TransformNet.from_config(config)
    grown.build()
    old = {variable.path: variable for variable in net.weights}
    if set(old) != {variable.path for variable in grown.weights}:
        raise ValueError("The network's layers differ from a TransformNet of its config.")
    for variable in grown.weights:
        value = np.asarray(old[variable.path].numpy())
        if tuple(variable.shape) != value.shape:
            # γ or β: (C,) or (N, C) in the trained network → (N + K, C).
            rows = value.reshape(-1, value.shape[-1])
            new = np.repeat(rows.mean(axis=0, keepdims=True), len(names), axis=0)
            value = np.concatenate([rows, new], axis=0)
        variable.assign(value)
    return grown

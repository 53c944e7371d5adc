"""Colours shared by the latent pad and the plotly charts, so a label has one colour everywhere."""

# Tableau 10 (= plotly's "D3" qualitative palette): ten hues that stay distinct on a projector and
# for the common colour-vision deficiencies better than a rainbow. Index = class label.
LABEL_PALETTE: tuple[str, ...] = (
    "#1f77b4",  # 0 blue
    "#ff7f0e",  # 1 orange
    "#2ca02c",  # 2 green
    "#d62728",  # 3 red
    "#9467bd",  # 4 purple
    "#8c564b",  # 5 brown
    "#e377c2",  # 6 pink
    "#7f7f7f",  # 7 grey
    "#bcbd22",  # 8 olive
    "#17becf",  # 9 cyan
)

"""AAE Lab Streamlit helpers: state, widgets, charts and components."""

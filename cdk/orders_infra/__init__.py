"""The orders pipeline infrastructure: one construct per concern, wired together by OrdersStack."""

"""The economy: the resumption power index (企业复工电力指数) and economic indicators."""

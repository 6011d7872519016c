"""Epidemiological core: early warning, R_t nowcasts, SEIR projections (pure, no I/O).

- `series`: count series read from `series,date,count` tables, validated per series.
- `ears`: EARS C1/C2/C3 as `surveillance::earsC` 1.20.3.
- `farrington`: classic `algo.farrington` and `farringtonFlexible` (surveillance 1.20.3).
- `rt`: R_t by Cori et al. (2013) as `EpiEstim::estimate_R` 2.2-4.
- `seir`: metapopulation SEIR, deterministic (ODE) and stochastic (chain binomial).
- `calibration`: maximum-likelihood fit of transmission rates and a change point.
"""

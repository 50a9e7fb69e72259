"""Mechanistic extraction for modular addition: Fourier analysis, Clock vs Pizza, faithful
programs and surgery to other moduli (Nanda et al. 2023; Zhong et al. 2023)."""

"""Each op's plain-PyTorch reference and the implementations of its fast paths, with their
conditions and test inputs; :mod:`..fast_paths` lists them in one table."""

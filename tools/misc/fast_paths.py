"""Print the table of fast paths of restv2_mm.ops (restv2_mm.ops.FAST_PATHS), as
docs/contributing.md shows it.

    python tools/misc/fast_paths.py --table
"""
import argparse

from restv2_mm import ops


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--table', action='store_true', required=True,
                        help='print the markdown table (it measures nothing)')
    parser.parse_args(argv)
    print(ops.fast_path_table(), end='')


if __name__ == '__main__':
    main()

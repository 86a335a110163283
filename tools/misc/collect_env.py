"""What this machine offers restv2-mm (the mm-style entry of ``python -m restv2_mm.cli.collect_env``).

    python tools/misc/collect_env.py [--check-device DEVICE] [--size H W]
"""
from restv2_mm.cli import collect_env_main as main

if __name__ == '__main__':
    main()

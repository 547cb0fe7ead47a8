"""A CPU-bound Python workload with a known shape: the interpreter (libpython) runs
work() -> heavy()/light() loops for SECONDS and prints how many rounds it did.
usage: python3 pyloop.py [SECONDS]"""
import sys
import time


def heavy(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


def light(n):
    return sum(range(n))


def work():
    return heavy(3000) + light(1000)


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    end = time.monotonic() + secs
    rounds = 0
    while time.monotonic() < end:
        for _ in range(10):
            work()
        rounds += 1
    print("pyloop: %d rounds" % rounds)


main()

"""`make bench-peers`: agentq's end-to-end drain against huey's task API on SQLite, same machine, same run.

Both sides get the same N jobs, queued before the clock starts, and the same number of workers;
the clock runs from the moment the workers start until every job's result is stored.

What each side does per job (printed again at the end, with the SQLite settings read back from
the connections themselves, not assumed):

- agentq: `agentq worker --drain --concurrency W` (a process of its own, start-up included in its
  time) on a home where `agentq submit` queued N lines for the echo agent. Per job: the claim
  and the completion go through SQLite (WAL, synchronous=NORMAL, batched per round trip), and a
  result file `results/<job_id>.json` is written to a temporary name, fsynced, renamed into place,
  and the directory fsynced (one directory fsync covers the renames that finished meanwhile):
  the result is on the disk before the job is marked done.
- huey: `SqliteHuey` with its defaults (WAL, the connection's default `synchronous`, a result
  store in the same database) and a consumer of W workers (threads, huey's default; processes too,
  as well, and the ratio is taken against the faster of the two). The task takes the same
  input and returns an echo of it; huey stores the return value in its result store (one SQLite
  commit per dequeue, one per result). No result file: huey's result store is the thing a huey
  user reads results from, and it is what huey's durability settings cover.

Each side runs twice (the second round in reverse order) and its faster run counts. The ratio
printed is agentq's jobs/s over huey's faster worker type.

Usage: huey_bench.py --agentq PATH [--jobs 20000] [--workers 4]
"""

import argparse
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from huey import SqliteHuey

SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def line(index):
    return {"custom_id": "row-%d" % index, "input": "Summarise item number %d in one sentence." % index}


def run_agentq(binary, jobs, workers, prefetch):
    root = tempfile.mkdtemp(prefix="agentq-peers-")
    try:
        home = os.path.join(root, "home")
        environment = dict(os.environ, AGENTQ_HOME=home)
        bulk = os.path.join(root, "input.jsonl")
        with open(bulk, "w") as handle:
            for index in range(jobs):
                handle.write(json.dumps(line(index)) + "\n")
        subprocess.run([binary, "submit", bulk], env=environment, check=True, stdout=subprocess.DEVNULL)
        os.sync()   # the submit's own writes are not the drain's cost
        command = [binary, "worker", "--drain", "--concurrency", str(workers)]
        if prefetch is not None:
            command += ["--prefetch", str(prefetch)]
        start = time.monotonic()
        # Its stderr (a start-up line) is kept out of the figures; it is shown if the drain fails.
        subprocess.run(command, env=environment, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.monotonic() - start
        files = len([name for name in os.listdir(os.path.join(home, "results")) if name.endswith(".json")])
        database = sqlite3.connect(os.path.join(home, "agentq.db"))
        journal = database.execute("pragma journal_mode").fetchone()[0]
        database.close()
        return files, elapsed, journal
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_huey(jobs, workers, worker_type):
    root = tempfile.mkdtemp(prefix="huey-peers-")
    try:
        path = os.path.join(root, "huey.db")
        # Queued without fsyncs (like agentq's submit, this is not what is timed), then synced.
        filler = SqliteHuey("bench", filename=path, fsync=False)
        # The instance the consumer runs: huey's SQLite defaults.
        huey = SqliteHuey("bench", filename=path)

        def echo(custom_id, text):
            return {"custom_id": custom_id, "response": text}

        huey.task(name="echo")(echo)
        filler_echo = filler.task(name="echo")(echo)
        for index in range(jobs):
            job = line(index)
            filler_echo(job["custom_id"], job["input"])
        filler.storage.close()
        os.sync()
        connection = huey.storage.conn
        journal = connection.execute("pragma journal_mode").fetchone()[0]
        synchronous = SYNCHRONOUS.get(connection.execute("pragma synchronous").fetchone()[0], "?")
        huey.storage.close()   # process workers must not share it

        consumer = huey.create_consumer(
            workers=workers, worker_type=worker_type, periodic=False, initial_delay=0.001, max_delay=0.01,
            check_worker_health=False)
        # The consumer's start() sets signal handlers: fine here, on the main thread.
        watcher = SqliteHuey("bench", filename=path)
        start = time.monotonic()
        consumer.start()
        while watcher.result_count() < jobs:
            time.sleep(0.005)
        elapsed = time.monotonic() - start
        consumer.stop(graceful=True)
        stored = watcher.result_count()
        watcher.storage.close()
        return stored, elapsed, journal, synchronous
    finally:
        shutil.rmtree(root, ignore_errors=True)


def load():
    return " ".join("%.2f" % value for value in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agentq", required=True, help="the agentq binary (release build)")
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--prefetch", type=int, default=None, help="agentq's --prefetch (default: adaptive)")
    arguments = parser.parse_args()
    # huey's process workers contend for SQLite's write lock; past its 5 s busy timeout a worker
    # logs "database is locked" with a traceback and tries again. Its own retry, not a failure
    # (every result is counted before a run ends), so kept out of the figures.
    logging.getLogger("huey").setLevel(logging.CRITICAL)
    import huey as huey_module

    print("peers: %d jobs, %d workers each, %d cores, load average %s" % (
        arguments.jobs, arguments.workers, os.cpu_count(), load()))
    # Two rounds, the second in reverse order, the faster run of each side counts: the machine is
    # shared, and a neighbour's build can double one run's time.
    sides = ["agentq", "thread", "process"]
    best = {}
    details = {}
    for round_number in (1, 2):
        for side in (sides if round_number == 1 else list(reversed(sides))):
            if side == "agentq":
                count, elapsed, journal = run_agentq(arguments.agentq, arguments.jobs, arguments.workers, arguments.prefetch)
                details[side] = (journal,)
                label = "agentq worker --drain --concurrency %d: %d result files" % (arguments.workers, count)
            else:
                count, elapsed, journal, synchronous = run_huey(arguments.jobs, arguments.workers, side)
                details["huey"] = (journal, synchronous)
                label = "huey %s SqliteHuey, %d %s workers: %d results" % (
                    huey_module.__version__, arguments.workers, side, count)
            per_second = count / elapsed
            best[side] = max(best.get(side, 0), per_second)
            print("round %d: %s in %.3f s = %.0f jobs/s (load %s)" % (round_number, label, elapsed, per_second, load()))
    print("agentq, best of 2: %.0f jobs/s" % best["agentq"])
    print("  durability: a result file per job, written to a temporary name, fsynced, renamed, directory fsynced "
          "(grouped) before the job is marked done; SQLite journal_mode=%s, synchronous=NORMAL: the completion "
          "commit is not fsynced, so after a power cut a job whose result file is on disk may run again "
          "(at least once)" % details["agentq"])
    print("huey, best of 2: %.0f jobs/s with threads, %.0f jobs/s with processes" % (best["thread"], best["process"]))
    print("  durability: huey's defaults: results in its SQLite result store, journal_mode=%s, synchronous=%s: "
          "each dequeue and each result is its own commit; a task is deleted when dequeued, so one running at a "
          "crash is lost (at most once)" % details["huey"])
    print("agentq / huey (the faster huey): %.2fx" % (best["agentq"] / max(best["thread"], best["process"])))


if __name__ == "__main__":
    sys.exit(main())

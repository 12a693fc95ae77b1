"""What a user of the OpenAI Batch API does, pointed at `agentq serve` with the official SDK.

Usage: python openai_batch_flow.py BASE_URL   (e.g. http://127.0.0.1:2323/v1)
Uploads a batch file, creates a batch, polls it until it is completed, and checks every
output line's custom_id and content. Prints OK and exits 0, or says what differed and exits 1.
"""
import json
import os
import sys
import tempfile
import time

from openai import OpenAI


def main() -> int:
    base_url = sys.argv[1]
    client = OpenAI(base_url=base_url, api_key=os.environ.get("AGENTQ_API_TOKEN", "unused"))

    questions = {f"request-{n}": f"question number {n}" for n in range(1, 6)}
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for custom_id, text in questions.items():
            handle.write(json.dumps({
                "custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": "echo", "messages": [
                    {"role": "system", "content": "You are terse."}, {"role": "user", "content": text}]},
            }) + "\n")
        path = handle.name

    # The five lines a README shows.
    batch_file = client.files.create(file=open(path, "rb"), purpose="batch")
    batch = client.batches.create(input_file_id=batch_file.id, endpoint="/v1/chat/completions", completion_window="24h")
    while batch.status not in ("completed", "failed", "cancelled", "expired"):
        time.sleep(0.2)
        batch = client.batches.retrieve(batch.id)
    output = client.files.content(batch.output_file_id).text

    problems = []
    if batch.status != "completed":
        problems.append(f"batch ended {batch.status}: {batch}")
    if client.files.retrieve(batch_file.id).purpose != "batch":
        problems.append("the uploaded file's purpose is not batch")
    counts = batch.request_counts
    if (counts.total, counts.completed, counts.failed) != (5, 5, 0):
        problems.append(f"request_counts {counts}")
    if batch.error_file_id is not None:
        problems.append(f"error_file_id {batch.error_file_id} for a batch without failures")
    seen = set()
    for line in output.splitlines():
        item = json.loads(line)
        custom_id = item["custom_id"]
        seen.add(custom_id)
        body = item["response"]["body"]
        content = body["choices"][0]["message"]["content"]
        if item["response"]["status_code"] != 200 or item["error"] is not None:
            problems.append(f"{custom_id}: not a success line: {line}")
        if content != f"echo: {questions.get(custom_id)}":
            problems.append(f"{custom_id}: content {content!r}")
        if body["object"] != "chat.completion" or body["usage"]["total_tokens"] <= 0:
            problems.append(f"{custom_id}: body {body}")
    if seen != set(questions):
        problems.append(f"custom_ids {sorted(seen)} instead of {sorted(questions)}")
    listed = client.batches.list(limit=10)
    if batch.id not in [item.id for item in listed.data]:
        problems.append("batches.list does not show the batch")

    if problems:
        print("\n".join(problems))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

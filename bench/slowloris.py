"""1,100 connections from five client addresses trickle a request's head a byte a second,
while a fresh client asks GET /healthz once a second: how many were answered, how fast,
and how many slow connections the server still holds at the end (issue 17).
usage: slowloris.py PORT [SECONDS]"""
import socket
import subprocess
import sys
import time

port = int(sys.argv[1])
seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 25
socks = []
for i in range(1100):
    s = socket.socket()
    s.bind((f"127.0.0.{30 + i % 5}", 0))
    try:
        s.connect(("127.0.0.1", port))
        s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        socks.append(s)
    except OSError:
        s.close()
opened = len(socks)
answers = []
end = time.time() + seconds
while time.time() < end:
    for s in list(socks):
        try:
            s.send(b"a")
        except OSError:
            socks.remove(s)
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-m", "3", "-w", "%{http_code} %{time_total}",
                          f"http://127.0.0.1:{port}/healthz"], capture_output=True, text=True).stdout.split()
    answers.append((out[0], float(out[1])))
    time.sleep(1)
ok = [t for code, t in answers if code == "200"]
print(f"slow connections opened {opened}, still open at the end {len(socks)}")
print(f"fresh GET /healthz answered {len(ok)} of {len(answers)}" +
      (f", slowest {max(ok) * 1000:.0f} ms" if ok else ""))

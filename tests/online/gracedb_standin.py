"""A local HTTP endpoint that stands in for a GraceDB server: it answers
the API root as GraceDB does (the links, templates, groups, pipelines
and searches the ligo-gracedb client checks) and records every event
created, every event file replaced, and every log message (with its
file) written to one."""

import email.parser
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class GraceDbStandIn:
    """``url`` is the API root; ``events`` the uploads, each a dict of
    the form fields and the event file's name and parsed JSON;
    ``replacements`` the event files replaced, the same with the event's
    id (``graceid``); ``logs`` the log messages, each a dict of the form
    fields, the event's id and the attached file's name and parsed
    JSON."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.replacements: list[dict] = []
        self.logs: list[dict] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                root = standin.url
                self.answer(
                    200,
                    {
                        "links": {"events": f"{root}events/"},
                        "templates": {
                            "event-log-template": f"{root}events/"
                            "{graceid}/log/",
                            "event-detail-template": f"{root}events/"
                            "{graceid}",
                        },
                        "groups": ["CBC", "Burst", "Test"],
                        "pipelines": ["aframe", "gstlal", "pycbc"],
                        "searches": ["AllSky", "MDC", "EarlyWarning"],
                        "labels": [],
                        "API_VERSIONS": ["v1"],
                    },
                )

            def form(self) -> dict:
                """The request's multipart form: its fields, and the
                attached file's name and parsed JSON."""
                length = int(self.headers["Content-Length"])
                body = self.rfile.read(length)
                # the multipart form, parsed as the MIME message it is
                head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n"
                form = email.parser.BytesParser(
                    policy=email.policy.HTTP
                ).parsebytes(head.encode() + body)
                fields = {}
                for part in form.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    content = part.get_content()
                    if name in ("eventFile", "upload"):
                        fields["filename"] = part.get_filename()
                        fields["file"] = json.loads(content)
                    else:
                        fields[name] = content
                return fields

            def do_PUT(self):
                fields = self.form()
                graceid = self.path.rstrip("/").split("/")[-1]
                standin.replacements.append({"graceid": graceid, **fields})
                self.answer(202, {"graceid": graceid})

            def do_POST(self):
                fields = self.form()
                parts = self.path.rstrip("/").split("/")
                if parts[-1] == "log":
                    standin.logs.append({"graceid": parts[-2], **fields})
                    self.answer(201, {"N": len(standin.logs)})
                    return
                event = fields
                standin.events.append(event)
                graceid = f"T{len(standin.events):06d}"
                self.answer(201, {"graceid": graceid, **event})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        host, port = self.server.server_address
        self.url = f"http://{host}:{port}/api/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True
        )

    def __enter__(self) -> "GraceDbStandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

import cProfile, pstats, time, os, io
from tests.evidence.test_web_attachments import files

def test_profile(app, reporter):
    content = ("\n".join(os.urandom(40).hex() for _ in range(5*1024*1024//81))).encode()
    assert reporter.submit(attachments=files((content, "e.txt"))).status_code == 200
    t = time.perf_counter()
    for _ in range(5): reporter.submit(attachments=files((content, "e.txt")))
    print("\nper upload ms", (time.perf_counter() - t) / 5 * 1000)
    pr = cProfile.Profile(); pr.enable()
    for _ in range(5): reporter.submit(attachments=files((content, "e.txt")))
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(25)

# Starts the Autobahn|Testsuite fuzzing server bound to 127.0.0.1 only (wstest itself binds every interface).
# Python 2.7: the suite runs on nothing newer. Usage: python2.7 autobahn_server.py SPEC.json
import sys

from autobahn.twisted import websocket
import autobahntestsuite.fuzzing as fuzzing

_listen = websocket.listenWS


def _loopback_only(factory, contextFactory=None, backlog=50, interface=''):
    return _listen(factory, contextFactory, backlog, '127.0.0.1')


fuzzing.listenWS = _loopback_only

from autobahntestsuite.wstest import run  # noqa: E402 (after the patch)

sys.argv = ['wstest', '-m', 'fuzzingserver', '--webport', '0', '-s', sys.argv[1]]
sys.exit(run())

export const CLI_USAGE = `Usage: eric-sse <command> [arguments] [--socket PATH]

Talks to an eric-sse socket server (the EricSocketTransport of a Nest app, or a SocketServer).

Commands:
  create                                        create an SSE channel; prints its id
  subscribe <channel>                           add a listener to a channel; prints its id
  broadcast <channel> <type> [payloadJson]      queue a message for every listener; prints ack
  dispatch <channel> <listener> <type> [payloadJson]
                                                queue a message for one listener; prints ack
  listen <channel> <listener>                   start a listener; prints one JSON line per event
                                                until the listener is removed (Ctrl-C to stop)
  watch <channel>                               like listen, on a new listener removed when you stop
  rm-listener <channel> <listener>              remove a listener; prints ack
  rm-channel <channel>                          remove a channel; prints ack

Options:
  --socket PATH   the server's socket file (default: $SOCKET_PATH, else <os tmpdir>/eric-sse.sock)
  -h, --help      show this help

payloadJson is one JSON value: '{"text": "hi"}', '"hello"', 42; without it the payload is null.
Exit status: 0 done, 1 the server answered an error or could not be reached, 2 bad usage.

Example:
  c=$(eric-sse create); l=$(eric-sse subscribe "$c")
  eric-sse broadcast "$c" news '{"text": "hello from the shell"}'
  eric-sse listen "$c" "$l"
`;

/* chat_peer.h - `sockit chat`: the seed's UDP "QQ" chat as one symmetric peer. */
#ifndef SOCKIT_CHAT_PEER_H
#define SOCKIT_CHAT_PEER_H

int cmd_chat(int argc, char **argv);

#endif

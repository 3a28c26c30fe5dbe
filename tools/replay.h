/* replay.h - `whvemu replay` (replay.c). */
#ifndef WHVEMU_TOOLS_REPLAY_H
#define WHVEMU_TOOLS_REPLAY_H

/* argv[0] is "replay"; returns the process exit status. */
int replay_main(int argc, char **argv);

#endif

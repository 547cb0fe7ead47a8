/* cmd/commands: the commands, one file each under cmd/; perfsample.c's table calls them.
 * Each takes its arguments after "perfsample" (argv[0] is the command's name) and returns
 * the exit status, or exits itself (cmd/util.h). */
#ifndef PS_CMD_COMMANDS_H
#define PS_CMD_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_fold(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_callgraph(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_script(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_heap_timeline(int argc, char **argv);
/* the system view (issue 15) */
int cmd_stat(int argc, char **argv);
int cmd_use(int argc, char **argv);
int cmd_heatmap(int argc, char **argv);
int cmd_plot(int argc, char **argv);
/* the fleet agent (issue 16) */
int cmd_agent(int argc, char **argv);

#endif

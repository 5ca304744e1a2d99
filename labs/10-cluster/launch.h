/* launch.h: `cluster --launch`, mpirun run by a reaper that leaves nothing behind (launch.c). */
#ifndef LAB_CLUSTER_LAUNCH_H
#define LAB_CLUSTER_LAUNCH_H

/* argv[0] is "--launch"; returns the exit status for main(). */
int launch_main(int argc, char **argv);

#endif

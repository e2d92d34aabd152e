#!/usr/bin/env bash
# Sourced by law's job script on the execute node (HTCondor's or Slurm's)
# before it runs `law run <Task> --branch N`: it recreates the environment
# the workflow was submitted from.  law fills in the {{...}} variables at
# submission (see aframe/jobs.py).

aframe_bootstrap() {
    # the experiment: its data roots and its law cfg, as on the submit node
    {{aframe_exports}}

    # the stage uses the cores the job requested, not every core of the node
    export OMP_NUM_THREADS="{{aframe_threads}}"

    if [ "{{aframe_container}}" = "apptainer" ]; then
        # the job runs inside the stage's image (HTCondor's container
        # universe, or aframe's Slurm job wrapper), whose environment has
        # law, aframe and the stage
        :
    else
        # the environment the workflow was submitted from, on a filesystem
        # the execute nodes share
        local prefix="{{aframe_prefix}}"
        if [ -f "${prefix}/bin/activate" ]; then
            source "${prefix}/bin/activate"
        elif [ -d "${prefix}/bin" ]; then
            export PATH="${prefix}/bin:${PATH}"
        else
            >&2 echo "aframe: the environment ${prefix} the jobs were" \
                "submitted from is not visible on $(hostname): the execute" \
                "nodes must share its filesystem, or set container =" \
                "apptainer"
            return 1
        fi
    fi

    if ! command -v law > /dev/null; then
        >&2 echo "aframe: law is not on PATH on $(hostname)"
        return 1
    fi
}

aframe_bootstrap

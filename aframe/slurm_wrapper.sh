#!/usr/bin/env bash
# The program of one aframe Slurm job (sbatch's script calls it with law's
# job arguments): it runs law's job script here, or inside the stage's
# Apptainer image, as HTCondor's container universe would.  law fills in
# the {{...}} variables at submission (see aframe/slurm.py).

# law's job script was copied beside this file
job_script="$(dirname "$0")/{{job_file}}"

if [ "{{aframe_container}}" = "apptainer" ]; then
    # --cleanenv keeps the node's environment out of the image: the GPUs
    # Slurm gave the job are forwarded, job_bootstrap.sh sets the rest
    if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
        export APPTAINERENV_CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES}"
    fi
    exec apptainer exec --cleanenv {{aframe_apptainer_options}} \
        "{{aframe_image}}" bash "${job_script}" "$@"
fi
exec bash "${job_script}" "$@"

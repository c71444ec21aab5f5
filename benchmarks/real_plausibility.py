"""Training-subject bone ratios, and plausibility of lifts of real detections.

    python benchmarks/real_plausibility.py --ranges --data ../shared/data/cmu_mocap/train
    python benchmarks/real_plausibility.py --real        # needs the [detector] extra

``--ranges`` prints each subject's median bone/torso ratios and their min/max over
subjects (the ``TRAINING_RATIO_RANGES`` of ``detect/plausibility.py``). ``--real`` runs
the detector and the shipped lifter on every real image installed here and prints the
checks per person.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np


def subject_ranges(data: str) -> dict:
    from learned_energy_ros.core.skeleton import joint_mapping
    from learned_energy_ros.data.mocap import load_mocap_dir
    from learned_energy_ros.detect.plausibility import bone_ratios

    per_subject = defaultdict(lambda: defaultdict(list))
    mapping = joint_mapping("mocap27", "h36m17")
    for clip in load_mocap_dir(data, fps=10):
        subject = f"{clip.source.split('/')[0]}/{clip.subject}"
        for bone, r in bone_ratios(np.asarray(clip.joints)[:, mapping]).items():
            per_subject[subject][bone].append(np.median(r))
    medians = {s: {b: float(np.median(v)) for b, v in bones.items()} for s, bones in per_subject.items()}
    bones = next(iter(medians.values())).keys()
    return {"subjects": medians, "ranges": {b: (min(m[b] for m in medians.values()), max(m[b] for m in medians.values()))
                                            for b in bones}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranges", action="store_true")
    p.add_argument("--data", default="../shared/data/cmu_mocap/train")
    p.add_argument("--real", action="store_true")
    args = p.parse_args(argv)
    if args.ranges:
        out = subject_ranges(args.data)
        print(json.dumps(out, indent=1))
    if args.real:
        from learned_energy_ros.detect.real_stage import lift_real_images, plausibility_table

        rows = plausibility_table(lift_real_images())
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

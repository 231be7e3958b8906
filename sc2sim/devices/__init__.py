"""Device profiles (YAML in ``device_profiles/``) and the compute model that maps host-measured
stage costs onto modelled mobile devices and edge servers. Torch-free."""

from sc2sim.devices.compute import REFERENCE_CORE, batch_extra_s, single_call_s, stage_cost_s, uses_cost_model
from sc2sim.devices.cost_model import WORK_FIELDS, StageWork, Terms, terms
from sc2sim.devices.profile import (
    DeviceProfile,
    RadioTech,
    available_devices,
    device_dirs,
    device_files,
    load_device,
    load_device_file,
)

__all__ = [
    "REFERENCE_CORE", "single_call_s", "stage_cost_s", "batch_extra_s", "uses_cost_model", "StageWork", "Terms",
    "terms", "WORK_FIELDS", "DeviceProfile", "RadioTech",
    "available_devices", "device_dirs", "device_files", "load_device", "load_device_file",
]

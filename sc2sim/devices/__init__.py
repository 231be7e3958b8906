"""Device profiles (YAML in ``device_profiles/``) and the compute model that maps host-measured
stage costs onto modelled mobile devices and edge servers. Torch-free."""

from sc2sim.devices.compute import REFERENCE_CORE, single_call_s, stage_cost_s
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
    "REFERENCE_CORE", "single_call_s", "stage_cost_s", "DeviceProfile", "RadioTech",
    "available_devices", "device_dirs", "device_files", "load_device", "load_device_file",
]

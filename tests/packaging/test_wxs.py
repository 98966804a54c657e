"""The MSI source and the app agree (fast; the slow test_build.py builds the real thing): the policy
values the MSI writes are ones perfectcare_desktop/policy.py reads, locked, from text; the fonts the
spec bundles are the ones the PDF export looks for."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from perfectcare_desktop import policy
from perfectcare_desktop.export import fonts

ROOT = Path(__file__).resolve().parents[2]
NS = {"w": "http://schemas.microsoft.com/wix/2006/wi"}
WXS = ET.parse(ROOT / "packaging" / "perfectcare.wxs").getroot()


def _policy_values() -> dict[str, ET.Element]:
    values = WXS.findall(".//w:Component/w:RegistryValue", NS)
    return {v.get("Name"): v for v in values if v.get("Key") == policy.REGISTRY_PATH}


def test_the_msi_writes_each_silent_install_property_under_the_name_policy_reads() -> None:
    written = _policy_values()
    assert set(written) == set(policy.MSI_PROPERTY_NAMES.values())
    for prop, name in policy.MSI_PROPERTY_NAMES.items():
        value = written[name]
        assert value.get("Root") == "HKLM" and value.get("Value") == f"[{prop}]" and value.get("Type") == "string"


class _Registry:
    def __init__(self, hklm: dict[str, object]) -> None:
        self.hklm = hklm

    def read(self, hive: str) -> dict[str, object]:
        return self.hklm if hive == "HKLM" else {}


def test_what_msiexec_writes_as_text_is_read_as_a_locked_policy(tmp_path: Path) -> None:
    # MSI properties are text: "7", not 7. (An absolute POSIX folder stands in for D:\\... here.)
    given = {"HUBURL": "postgresql://hub.trust.nhs.uk/perfectcare", "DATADIR": "/srv/ward-store",
             "IDLELOCKMINUTES": "7"}  # fmt: skip
    hklm = {policy.MSI_PROPERTY_NAMES[prop]: value for prop, value in given.items()}
    settings = policy.load_settings(registry=_Registry(hklm), policy_file=tmp_path / "none.json")
    assert settings.problems == []
    assert settings.get("idle_lock_minutes") == 7
    assert settings.get("hub_url") == given["HUBURL"] and settings.get("data_dir") == given["DATADIR"]
    assert all(settings.locked(name) for name in hklm)


def test_each_policy_component_installs_only_when_its_property_is_set() -> None:
    text = (ROOT / "packaging" / "perfectcare.wxs").read_text()
    build = (ROOT / "packaging" / "build.sh").read_text()
    for name in policy.MSI_PROPERTY_NAMES.values():
        component = next(c for c in WXS.findall(".//w:Component", NS)
                         if any(v.get("Name") == name and v.get("Key") == policy.REGISTRY_PATH
                                for v in c.findall("w:RegistryValue", NS)))  # fmt: skip
        prop = _policy_values()[name].get("Value").strip("[]")
        cid = component.get("Id")
        # WiX: a Condition child (inside <?if Toolset = wix?>); wixl: build.sh sets the same condition.
        assert component.find("w:Condition", NS).text == prop
        assert re.search(rf'Id="{cid}"[^>]*>\s*<\?if \$\(var\.Toolset\) = "wix" \?><Condition>{prop}<', text)
        assert f"SET \\`Condition\\` = '{prop}' WHERE \\`Component\\` = '{cid}'" in build


def test_the_upgrade_code_never_changes() -> None:
    product = WXS.find("w:Product", NS)
    assert product.get("UpgradeCode") == "35039254-6BA7-4425-AC60-B3EC26748D47"
    assert product.get("Id") == "*"
    assert WXS.find("w:Product/w:Package", NS).get("InstallScope") == "perMachine"
    assert WXS.find("w:Product/w:MajorUpgrade", NS) is not None


def test_the_spec_bundles_the_fonts_the_pdf_export_looks_for() -> None:
    spec = (ROOT / "packaging" / "perfectcare.spec").read_text()
    bundled = set(re.findall(r'"([\w-]+\.ttf)"', spec))
    for role in (fonts.BODY, fonts.BODY_BOLD, fonts.ARABIC, fonts.ARABIC_BOLD, fonts.EMOJI):
        assert bundled & set(role), f"the spec bundles none of {role}"

"""FMK outage dispatcher: notifies the 98 municipalities and pages MedCom when FMK is down."""

__version__ = "0.1.0"

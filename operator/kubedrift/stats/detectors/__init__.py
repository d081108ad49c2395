"""Sequential drift detectors with a river-style API (``update(x)``, ``drift_detected``).

- :class:`~kubedrift.stats.detectors.cusum.CUSUM`: a reference is known (the baseline's mean and
  spread, or the reference error rate); by default a bank of CUSUMs over change sizes 0.1 to 3.2
  sigma, near the optimal known-change CUSUM whatever the size; fastest at a calibrated
  false-alarm rate.
- :class:`~kubedrift.stats.detectors.page_hinkley.PageHinkley`: mean change, no reference.
- :class:`~kubedrift.stats.detectors.adwin.ADWIN`: mean change, no reference, no tuning of the
  change size.
"""

from kubedrift.stats.detectors.adwin import ADWIN
from kubedrift.stats.detectors.base import DriftDetector, detections
from kubedrift.stats.detectors.cusum import CUSUM
from kubedrift.stats.detectors.page_hinkley import PageHinkley

__all__ = ["ADWIN", "CUSUM", "DriftDetector", "PageHinkley", "detections"]

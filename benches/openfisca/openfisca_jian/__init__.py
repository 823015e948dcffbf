"""OpenFisca port of the Ji'an one-month rules (POLICY-SPEC.md, `policies/jian`).

A small country package: entities (household, person), parameters in YAML (`parameters/`), variables
with formulas (`variables/`). Used by `benches/openfisca/run.py` to compare OpenFisca with doudi.
"""

import os

import numpy
from openfisca_core.taxbenefitsystems import TaxBenefitSystem

from openfisca_jian.entities import entities

HERE = os.path.dirname(os.path.abspath(__file__))


class JianTaxBenefitSystem(TaxBenefitSystem):
    """The Ji'an rules.

    ``float64=True`` (the default) stores every ``value_type = float`` variable as float64 instead of
    OpenFisca's float32: float32 has 24 bits of mantissa (about 7 significant digits), too few for
    cents on yearly amounts (56,237.80 yuan of medical costs) or for deciding ``y < S`` at the
    boundary. ``float64=False`` is stock OpenFisca, to measure what float32 costs.
    """

    def __init__(self, float64: bool = True) -> None:
        super().__init__(entities)
        self.add_variables_from_directory(os.path.join(HERE, "variables"))
        self.load_parameters(os.path.join(HERE, "parameters"))
        if float64:
            for variable in self.variables.values():
                if variable.value_type is float:
                    variable.dtype = numpy.float64


CountryTaxBenefitSystem = JianTaxBenefitSystem

"""The production facts of ../shared/reference/CMS.md that the test worlds share: the PCL table and the
express streams' alca_skim lists per kind of run. Not a test module; written from CMS.md alone."""

from __future__ import annotations

#: CMS.md's PCL table and the cosmics producers (tags: cmssw DropBoxMetadata): stream, producer, tag, time type
PCL_TABLE = [
    ("ExpressAlignment", "PromptCalibProdBeamSpotHP", "BeamSpotObjects_PCL_byLumi_v0_prompt", "Lumi"),
    ("Express", "PromptCalibProdSiStrip", "SiStripBadChannel_PCL_v1_prompt", "Run"),
    ("Express", "PromptCalibProdSiStripGains", "SiStripApvGain_PCL_v0_prompt", "Run"),
    ("Express", "PromptCalibProdSiStripGainsAAG", "SiStripApvGainAfterAbortGap_PCL_v0_prompt", "Run"),
    ("Express", "PromptCalibProdSiStripHitEff", "SiStripBadChannel_FromHitEfficiency_v0_prompt", "Run"),
    ("Express", "PromptCalibProdSiPixelAli", "SiPixelAli_PCL_v0_prompt", "Run"),
    ("Express", "PromptCalibProdSiPixelAliHGComb", "SiPixelAliHGCombined_PCL_v0_prompt", "Run"),
    ("Express", "PromptCalibProdSiPixel", "SiPixelQuality_byPCL_prompt_v2", "Lumi"),
    ("Express", "PromptCalibProdSiPixelLA", "SiPixelLorentzAngle_byPCL_v0_prompt", "Run"),
    ("Calibration", "PromptCalibProdEcalPedestals", "EcalPedestals_PCL_v0_prompt", "Run"),
    ("ALCALumiPixelsCountsExpress", "PromptCalibProdLumiPCC", "LumiPCC_Corrections_prompt", "Lumi"),
    ("ALCAPPSExpress", "PromptCalibProdPPSTimingCalib", "CTPPPSTimingCalibration_HPTDC_byPCL_v1_prompt", "Run"),
    ("ALCAPPSExpress", "PromptCalibProdPPSAlignment", "CTPPSRPAlignment_byPCL_v1_prompt", "Run"),
    ("ExpressCosmics", "PromptCalibProdSiPixelLAMCS", "SiPixelLorentzAngleMCS_byPCL_v0_prompt", "Run"),
    ("ExpressCosmics", "PromptCalibProdSiStripLA", "SiStripLorentzAngle_byPCL_v0_prompt", "Run"),
]
#: the production express lists (CMS.md), per kind of run
COLLISION = {
    "Express": "SiStripPCLHistos,SiStripCalZeroBias,SiStripCalMinBias,SiStripCalMinBiasAAG,TkAlMinBias,"
               "SiPixelCalZeroBias,SiPixelCalSingleMuon,SiPixelCalSingleMuonTight,TkAlZMuMu,PromptCalibProd,"
               "PromptCalibProdSiStrip,PromptCalibProdSiPixelAli,PromptCalibProdSiStripGains,"
               "PromptCalibProdSiStripGainsAAG,PromptCalibProdSiPixel,PromptCalibProdSiPixelLA,"
               "PromptCalibProdSiStripHitEff,PromptCalibProdSiPixelAliHG,PromptCalibProdSiPixelAliHGComb",
    "ExpressAlignment": "TkAlMinBias,PromptCalibProdBeamSpotHP",
    "ALCALumiPixelsCountsExpress": "AlCaPCCRandom,PromptCalibProdLumiPCC",
    "ALCAPPSExpress": "PPSCalMaxTracks,PromptCalibProdPPSTimingCalib,PromptCalibProdPPSAlignment",
    "Calibration": "PromptCalibProdEcalPedestals",
    "HLTMonitor": "PromptCalibProdSiPixelAliHLTHGC",
}
COSMICS = {"ExpressCosmics": "SiStripPCLHistos,SiStripCalZeroBias,TkAlCosmics0T,SiPixelCalZeroBias,SiPixelCalCosmics,"
                             "SiStripCalCosmics,PromptCalibProdSiStrip,PromptCalibProdSiPixelLAMCS,"
                             "PromptCalibProdSiStripLA"}
HEAVY_IONS = {"HIExpress": "SiStripPCLHistos,SiStripCalZeroBias,TkAlMinBias,PromptCalibProd,PromptCalibProdSiStrip,"
                           "PromptCalibProdSiPixelAli,PromptCalibProdSiStripGains,PromptCalibProdSiStripGainsAAG,"
                           "PromptCalibProdSiPixel,PromptCalibProdSiPixelLA,PromptCalibProdSiStripHitEff,"
                           "PromptCalibProdSiPixelAliHG,PromptCalibProdSiPixelAliHGComb",
              "HLTMonitor": "PromptCalibProdSiPixelAliHLTHGC"}

"""The review report (sơ kết / tổng kết), its drill-down, and the projection status."""

"""The review report as documents: DOCX (state administrative format), XLSX (every figure and record), PDF."""

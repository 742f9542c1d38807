<?php
// SPDX-License-Identifier: Apache-2.0
// DirectoryIndex target in a protected directory (POST /dirindex/php/):
// reports exactly as t/php/report.php does.
require __DIR__ . '/../../../php/report.php';

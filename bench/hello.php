<?php
// The "small PHP page" of `make bench` (rows c): a few bytes built by PHP, no I/O.
header('Content-Type: text/plain');
echo 'hello ', isset($_SERVER['REMOTE_USER']) ? $_SERVER['REMOTE_USER'] : 'anonymous', "\n";

# SPDX-License-Identifier: Apache-2.0
# chart.gp - throughput per row, one panel per payload size.
# gnuplot -e "datadir='DIR'; outfile='FILE.png'" chart.gp
# Reads DIR/chart-{2k,64k,1m}.dat written by report.pl (row valid forged).
set terminal pngcairo size 1500,560 font "sans,10" noenhanced
set output outfile
set datafile missing '?'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set xtics rotate by -30 nomirror
set key top right
set format y "%'.0f"
set decimal locale
set multiplot layout 1,3 title "mod_twwebhook benchmark: requests/s per row (median of rounds)"
set title "2 KB delivery"
set ylabel "requests/s"
plot datadir.'/chart-2k.dat' using 2:xtic(1) title "valid delivered" lc rgb "#2e7d32", \
     '' using 3 title "forged rejected" lc rgb "#c62828"
unset ylabel
set title "64 KB delivery"
plot datadir.'/chart-64k.dat' using 2:xtic(1) title "valid delivered" lc rgb "#2e7d32", \
     '' using 3 title "forged rejected" lc rgb "#c62828"
set title "1 MB delivery"
plot datadir.'/chart-1m.dat' using 2:xtic(1) title "valid delivered" lc rgb "#2e7d32", \
     '' using 3 title "forged rejected" lc rgb "#c62828"
unset multiplot
